"""The `labelwire` command and its subcommands."""
