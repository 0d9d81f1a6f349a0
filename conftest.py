# Doctests are collected from the package too; the `python -m noisyactive` entry
# point would run the command line on import, so it is not collected.
collect_ignore = ["noisyactive/__main__.py"]
