"""What is fed in: the deterministic input sets (every pattern of a 16-bit format, a stratified
sample of the wider ones) and the hypothesis strategies that search the hard regions."""
