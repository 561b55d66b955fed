"""Example data and the script that generates it (not part of the installed package)."""
