"""One builder for the commands nasforge prints and stores for a stored study (resume, trials, rerun hints)."""

from nasforge.experiment.storage.display import study_command
from nasforge.pipelines.search import recorded_study, resume_command


def test_study_command_quotes_hides_the_password_and_puts_a_dash_name_after_double_dash():
    url = "postgresql://me:secret@host/db"
    assert study_command("trials", "my study", url, "--out", "trials.csv") == \
        "nasforge trials 'my study' --storage postgresql://me@host/db --out trials.csv"
    assert study_command("resume", "-x", "sqlite:///a b.db", "--evaluator", "pkg.mod:make") == \
        "nasforge resume --storage 'sqlite:///a b.db' --evaluator pkg.mod:make -- -x"


def test_resume_command_keeps_the_spelling_stored_summaries_hold():
    assert resume_command("s", "sqlite:///runs/r/study.db") == "nasforge resume s --storage sqlite:///runs/r/study.db"
    assert resume_command("-s", "sqlite:///x.db") == "nasforge resume --storage sqlite:///x.db -- -s"
    assert recorded_study(resume_command("-s", "sqlite:///x.db")) == ("-s", "sqlite:///x.db")
