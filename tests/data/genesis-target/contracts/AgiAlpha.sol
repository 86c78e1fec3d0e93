// SPDX-License-Identifier: MIT
pragma solidity 0.8.30;

import {ERC20} from "@openzeppelin/contracts/token/ERC20/ERC20.sol";

/// @notice The token a real system hard-codes by address: only its code is needed at that address.
contract AgiAlpha is ERC20 {
    constructor() ERC20("AGI ALPHA", "AGIALPHA") {}
}
