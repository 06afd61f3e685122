"""The `bdbexport` command line."""
