"""Starting Ray for the sweep and the distributed annotate: a local Ray, or a cluster from RAY_ADDRESS. Ray is an
optional extra: importing this module without it stops with one line saying what to install, not a traceback.
"""

import logging
import os
from pathlib import Path

INSTALL_HINT = "✘ Ray is not installed: run `pip install -r requirements-ray.txt` (the optional Ray extra)"

try:
    import ray
except ImportError:
    raise SystemExit(INSTALL_HINT) from None


def init_ray(num_cpus: int) -> str:
    """Connect to RAY_ADDRESS if set, else start a local Ray on loopback with num_cpus; return which."""
    if ray.is_initialized():
        return "already running"
    # pt_pipelines/ goes to every worker, so trials and actors import our modules; data and models travel through
    # Ray's object store, so workers need no shared file system
    env = {"py_modules": [str(Path(__file__).resolve().parent.parent)], "excludes": ["__pycache__", "*.pyc"]}
    if address := os.environ.get("RAY_ADDRESS", "").strip():
        # a cluster: its own CPUs count, num_cpus does not apply; token auth (RAY_AUTH_MODE=token)
        # is read by Ray itself from RAY_AUTH_TOKEN, RAY_AUTH_TOKEN_PATH or ~/.ray/auth_token
        ray.init(address=address, runtime_env=env, logging_level=logging.WARNING)
        return f"cluster at {address}"
    # Ray has no loopback-only mode; since 2.5x a new local Ray requires a token (~/.ray/auth_token)
    ray.init(num_cpus=num_cpus, include_dashboard=False, runtime_env=env, logging_level=logging.WARNING)
    return f"a local Ray with {num_cpus} CPUs"
