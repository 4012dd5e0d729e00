"""Studies: the durable record of trials and the loop that fills it."""

from .pruners import LearningCurvePruner, MedianPruner, Pruner, SuccessiveHalvingPruner, get_pruner
from .reporting import Reporter, TrialPruned
from .scheduler import StudyAborted
from .storage import InMemoryStorage, Storage, StorageError, get_storage, open_storage
from .study import Study
from .trial import Trial, TrialState

__all__ = ["InMemoryStorage", "LearningCurvePruner", "MedianPruner", "Pruner", "Reporter", "Storage", "StorageError",
           "Study", "StudyAborted", "SuccessiveHalvingPruner", "Trial", "TrialPruned", "TrialState", "get_pruner",
           "get_storage", "open_storage"]
