"""Artifacts: the build of a Hardhat, Foundry, truffle or solc project as one typed model (loader), and the
ABI, bytecode and Keccak helpers every phase reads it with."""
