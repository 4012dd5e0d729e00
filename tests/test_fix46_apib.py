"""Public API fixes (review 46, part B): path arguments that are no path, save_model's checks before writing,
create_model's and validate's argument checks, and one name given where a list of names is expected."""

from __future__ import annotations

import pytest

from nasforge.analysis import bench_report
from nasforge.benchmarks import SurrogateBenchmark
from nasforge.exceptions import UsageError
from nasforge.export import load_model, read_info
from nasforge.oneshot.checkpoint import load_supernet


@pytest.mark.parametrize("load", [load_model, read_info, load_supernet, bench_report, SurrogateBenchmark.load])
@pytest.mark.parametrize("folder", [None, 3])
def test_a_folder_that_is_no_path_is_a_usage_error_naming_it(load, folder):
    with pytest.raises(UsageError, match=r"^folder must be a path \(str or Path\), got"):
        load(folder)


@pytest.mark.parametrize("load", [load_model, read_info, load_supernet, bench_report, SurrogateBenchmark.load])
def test_an_empty_folder_name_is_refused_not_read_as_the_working_folder(load):
    with pytest.raises(UsageError, match="^folder must name .*an unset shell variable"):
        load(" ")
