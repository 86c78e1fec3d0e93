"""signoff: acceptance and validation gate for EVM contract systems and their services.

The package is importable outside pytest; :mod:`signoff.plugin` wires it into pytest.
"""

__version__ = "0.1.0"
