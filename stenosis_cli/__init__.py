"""The `stenosis` command line: typer app, options, rich output on stderr, exit codes."""
