"""Studies: the durable record of trials and the loop that fills it."""

from .study import Study, Trial, TrialState

__all__ = ["Study", "Trial", "TrialState"]
