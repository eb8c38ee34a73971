"""The `ccx` command."""
