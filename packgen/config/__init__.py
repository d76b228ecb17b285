"""The workspace config, ``packgen.yaml``: its schema, loading with located errors, the rule
condition language, and ``packgen init``'s scaffold.

A script needs :func:`load_config`; the models are in :mod:`packgen.config.schema`.
"""

from packgen.config.load import default_config_text, load_config
from packgen.config.schema import CONFIG_NAME, PLAN_KEYS, Config, PlanKey

__all__ = ["CONFIG_NAME", "PLAN_KEYS", "Config", "PlanKey", "default_config_text", "load_config"]
