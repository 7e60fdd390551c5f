"""Guided service halving for a server that loses its network after a restart: the pure
search (``search``) and the session recorded in its journal across restarts
(``session``). Same layer as :mod:`wizard.calls`."""
