"""How the command line shows results in a terminal (rich renderables); no logic a script would miss."""
