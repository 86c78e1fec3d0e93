// SPDX-License-Identifier: MIT
pragma solidity 0.8.30;

import {IERC20Metadata} from "@openzeppelin/contracts/token/ERC20/extensions/IERC20Metadata.sol";

/// @notice Reads decimals() of a token at a hard-coded address in its constructor, as real modules do:
/// the rehearsal chain must hold that token's code there first ([[deploy.genesis]]).
contract RewardEngine {
    address public constant AGIALPHA = 0xB86e194a69F36c23f0AbaBA3017fE970F46B7051;
    uint8 public immutable tokenDecimals;

    error NotEighteen(uint8 decimals);

    constructor() {
        uint8 found = IERC20Metadata(AGIALPHA).decimals();
        if (found != 18) revert NotEighteen(found);
        tokenDecimals = found;
    }
}
