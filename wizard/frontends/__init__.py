"""The front ends: thin layers over :mod:`wizard.service` that ask, show and print.
``terminal`` is the command line and its interactive wizard. A front end never imports
another front end."""
