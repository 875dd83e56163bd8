# IPython kernel settings for this project's environment: `make install` copies this file to
# .venv/etc/ipython/, which every kernel of the environment reads (papermill's, JupyterLab's, nbval's).
import logging


class _NoUnencryptedTCPWarning(logging.Filter):
    """ipykernel warns on every start over TCP without CurveZMQ keys. On this one machine the kernel only listens
    on 127.0.0.1, and `pucredit run`/`batch` use IPC sockets anyway; the warning would only fill users' logs.
    Only that message is dropped; every other warning of the kernel still shows."""

    def filter(self, record: logging.LogRecord) -> bool:
        return "running over TCP without encryption" not in record.getMessage()


logging.getLogger("IPKernelApp").addFilter(_NoUnencryptedTCPWarning())
