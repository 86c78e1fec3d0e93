// SPDX-License-Identifier: MIT
pragma solidity 0.8.30;

// Test data for tests/test_bytecode.py: the bytecode shapes the reference target lacks.
// Rebuild all three builds from the repository root:
//   node fixtures/tools/compile.cjs tests/data/bytecode --out tests/data/bytecode
//   node fixtures/tools/compile.cjs tests/data/bytecode --via-ir off --out tests/data/bytecode/legacy
//   node fixtures/tools/compile.cjs tests/data/bytecode/variant --out tests/data/bytecode/variant
// variant/contracts/Samples.sol is this file with the next comment line changed, nothing else.
// (original comment line)

/// @dev An external library function: callers are linked, and the library's runtime starts
/// with the call-protection PUSH20 that the deployment overwrites with its own address.
library Tally {
    function add(uint256 a, uint256 b) external pure returns (uint256) {
        return a + b;
    }

    function bump(mapping(uint256 => uint256) storage counts, uint256 key) external {
        counts[key] += 1;
    }
}

contract UsesTally {
    mapping(uint256 => uint256) private _counts;

    function bump(uint256 key) external {
        Tally.bump(_counts, key);
    }

    function sum(uint256 a, uint256 b) external pure returns (uint256) {
        return Tally.add(a, b);
    }
}

contract Child {
    uint256 public value;
}

/// @dev Its runtime embeds Child's creation code, CBOR metadata included.
contract Parent {
    function make() external returns (address) {
        return address(new Child());
    }
}

abstract contract Owned {
    address public immutable keeper;

    constructor(address keeper_) {
        keeper = keeper_;
    }
}

/// @dev Immutables of every kind signoff must derive, or refuse to derive, from the constructor.
contract Configured is Owned {
    uint128 public immutable cap;
    bytes8 public immutable tag;
    bool public immutable flag;
    int32 public immutable delta;
    uint256 public immutable seven = 7;
    uint64 public constant MIN_DELAY = 1 hours;
    uint64 public immutable floor = MIN_DELAY;
    uint256 public immutable bornAt;
    address public immutable maybe;

    constructor(address keeper_, uint256 cap_, bytes8 tag_, bool flag_, int32 delta_, address maybe_) Owned(keeper_) {
        cap = uint128(cap_);
        tag = tag_;
        flag = flag_;
        delta = delta_;
        bornAt = block.timestamp;
        if (maybe_ == address(0)) {
            maybe = msg.sender;
        } else {
            maybe = maybe_;
        }
    }
}
