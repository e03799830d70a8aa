"""Writes of the bases app, one module per sub-domain; import from the module, not from here."""
