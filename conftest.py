"""Root conftest of the signoff checkout.

The plugin (the ``pytest11`` entry point of the installed package) owns every option,
including the short ``--target``/``--network`` aliases, and registers every marker, so a
protocol repository gets the same command line as this checkout. Here only: the folders of
the checkout that hold data, not tests.
"""

collect_ignore = ["fixtures", "bench", "node_modules", "docs"]
