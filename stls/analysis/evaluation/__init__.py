"""Did the support work? The setting-level evaluation of Intensive Specialist Support: ``model`` (the
estimators), ``worker`` (every estimate, once per data version) and ``words`` (what they say)."""
