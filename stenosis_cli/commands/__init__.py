"""One module per subcommand: parse options, call the stage's plain function, print."""
