"""The framework suites run only from their tox envs (``frameworks``, ``llamaindex``).

Each env installs the frameworks it tests; the default run does not collect this folder.
"""

import os

# litellm fetches its model price map from the internet on import unless told not to.
os.environ.setdefault("LITELLM_LOCAL_MODEL_COST_MAP", "True")
