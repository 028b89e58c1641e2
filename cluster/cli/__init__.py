"""The `zeroplay` command line: argument parsing and output rendering, one module per command group.

Nothing outside this package imports it. Domain code raises `ZeroplayError`s; `cluster.cli.main` turns
them into one line on stderr and exit status 2.
"""
