"""Developer tooling: Terraform CLI set-up, the local emulator, benchmarks."""
