"""The errors a user can cause. The CLI turns each into one line and a non-zero exit."""

from __future__ import annotations


class QAError(Exception):
    """A problem the user can fix; the message says how."""

    exit_code = 2


class IndexProblem(QAError):
    """The index is missing, damaged, locked or was built differently; the message says what to run."""

    exit_code = 3


class ModelProblem(QAError):
    """The embedding model package is missing or its weights are not the expected ones."""

    exit_code = 4
