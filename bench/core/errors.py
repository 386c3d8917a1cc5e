"""The one exception type users see: its message is a single line saying what, where and how to fix."""


class BenchError(Exception):
    """A user-facing error. The CLI prints ``error: <message>`` and exits non-zero, without a traceback."""

    exit_code = 2

    def __init__(self, what: str, fix: str | None = None):
        message = what if fix is None else f"{what}; {fix}"
        super().__init__(" ".join(message.split()))
