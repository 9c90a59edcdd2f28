"""The installed package cannot be shadowed by a clone folder named ``reparax``."""

import subprocess
import sys


def test_a_clone_folder_named_reparax_beside_a_script_does_not_shadow_the_package(tmp_path):
    # What `git clone .../reparax` next to a user's script leaves: a folder named `reparax`
    # (the project root, with no __init__.py) on sys.path[0] when the script runs.
    (tmp_path / "reparax" / "reparax").mkdir(parents=True)
    (tmp_path / "reparax" / "README.md").write_text("a clone\n")
    script = tmp_path / "script.py"
    script.write_text("import reparax\nprint(reparax.Normal.__name__)\n")
    out = subprocess.run(
        [sys.executable, str(script)], cwd=tmp_path, capture_output=True, text=True, check=True
    )
    assert out.stdout.strip() == "Normal"
