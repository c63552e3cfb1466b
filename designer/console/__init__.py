"""The order console's queries and view models: what the ``designer.routes.console_*`` pages show.

Kept apart from the routes so the pages stay thin and the benchmark can time the same queries.
"""
