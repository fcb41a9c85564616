"""Start and own one Xvfb + Minetest pair; nothing outlives the owner, even after SIGKILL.

    inst = MinetestProcess.start(MinetestLaunch(width=64, height=64))
    inst.alive()          # both processes still running
    inst.close()          # SIGKILL both, reap them, delete the instance directory

Lifetime rules:
  * both children get PR_SET_PDEATHSIG=SIGKILL (through `setpriv --pdeathsig KILL`, so no Python
    runs between fork and exec), so the kernel kills them when the thread that started them dies (the bridge worker, itself killed by the pool's PDEATHSIG or its
    parent watch when the pool process is SIGKILLed);
  * each child leads its own session/process group, and `close()` kills the group;
  * the instance directory `<tmp>/jaxcraft-minetest/<owner pid>_<token>` (world, config,
    Xvfb frame buffer) is deleted by `close()`; directories whose owner pid is dead are
    removed by the next `start()` (what SIGKILL leaves behind). The client's media cache is
    shared by all instances (`<tmp>/jaxcraft-minetest/cache`), so an instance directory holds
    a dozen files and deletes in milliseconds.
Xvfb picks a free display itself (`-displayfd`), and the frame buffer is a memory-mappable
XWD file (`-fbdir`), so pixels are read without X round trips.
"""
from __future__ import annotations

import ctypes
import dataclasses
import os
import pathlib
import secrets
import shutil
import signal
import socket
import subprocess
import tempfile
import threading
import time

_PR_SET_PDEATHSIG = 1
ROOT = pathlib.Path(tempfile.gettempdir()) / "jaxcraft-minetest"
# The client's media cache ($XDG_CACHE_HOME/minetest/media: ~560 texture files named by their
# SHA-1, written atomically), shared by every instance. Inside each instance directory it made
# close() slow (deleting a long-running instance's files took 1-2 s on this 2-core machine's
# disk, past the 2 s a bridge pool gives its workers before SIGKILL, which then left the
# directory behind) and every start rewrote them.
CACHE = ROOT / "cache"
MOD_DIR = pathlib.Path(__file__).with_name("mod") / "jaxcraft_bridge"
SEARCH_PATH = os.environ.get("PATH", "") + ":/usr/games:/usr/bin"


class MinetestNotInstalled(RuntimeError):
    """The minetest or Xvfb binary is missing (apt-get install minetest xvfb)."""


def binaries() -> tuple[str, str]:
    """(minetest, Xvfb) paths; MinetestNotInstalled naming what is missing."""
    mt, xvfb = shutil.which("minetest", path=SEARCH_PATH), shutil.which("Xvfb", path=SEARCH_PATH)
    missing = [n for n, p in (("minetest", mt), ("Xvfb", xvfb)) if p is None]
    if missing:
        raise MinetestNotInstalled(f"{' and '.join(missing)} not found: apt-get install -y minetest xvfb")
    return mt, xvfb


def missing_reason() -> str | None:
    """Why Minetest instances cannot start here (None: they can)."""
    try:
        binaries()
    except MinetestNotInstalled as e:
        return str(e)
    try:
        import Xlib  # noqa: F401
    except ImportError:
        return "python-xlib is not installed: pip install 'jaxcraft[minetest]'"
    return None


@dataclasses.dataclass(frozen=True)
class MinetestLaunch:
    """How one instance is started. Every field is a Minetest/Xvfb setting."""

    width: int = 64                 # window = Xvfb screen = frame, in pixels
    height: int = 64
    server_step_s: float = 0.05     # dedicated_server_step: the mod's report period
    fps_max: int = 40               # client frame cap (CPU per instance)
    fov_deg: float = 56.0           # the `fov` setting (see FOV_Y_DEG in minetest_env)
    viewing_range: int = 32         # blocks (jaxcraft's fog end)
    mouse_sensitivity: float = 0.35  # degrees per pixel of pointer motion
    start_timeout_s: float = 60.0


def _owned(cmd: list[str]) -> tuple[list[str], dict]:
    """(argv, Popen kwargs) so the child dies with this thread and leads its own session.

    No Python runs between fork and exec (a `preexec_fn` can deadlock in a process with
    threads, e.g. one that imported JAX): util-linux `setpriv --pdeathsig KILL` sets the death
    signal and execs the command; without setpriv, a preexec_fn does the prctl. PDEATHSIG
    tracks the *thread* that forked, so it is only set from the main thread.
    """
    on_main = threading.current_thread() is threading.main_thread()
    if not on_main:
        return cmd, {"start_new_session": True}
    setpriv = shutil.which("setpriv", path=SEARCH_PATH)
    if setpriv:
        return [setpriv, "--pdeathsig", "KILL", "--", *cmd], {"start_new_session": True}

    def preexec():
        os.setsid()
        ctypes.CDLL(None, use_errno=True).prctl(_PR_SET_PDEATHSIG, signal.SIGKILL)
    return cmd, {"preexec_fn": preexec}


def _pid_alive(pid: int) -> bool:
    """True if `pid` runs (a zombie whose parent never reaps it counts as dead)."""
    try:
        with open(f"/proc/{pid}/stat") as f:
            return f.read().rsplit(")", 1)[1].split()[0] != "Z"
    except (OSError, IndexError):
        pass
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    return not os.path.isdir("/proc")


def remove_stale_dirs() -> list[str]:
    """Delete instance directories whose owner process is gone; return their names."""
    removed = []
    if not ROOT.is_dir():
        return removed
    for d in ROOT.iterdir():
        pid = d.name.split("_", 1)[0]
        if pid.isdigit() and not _pid_alive(int(pid)):
            shutil.rmtree(d, ignore_errors=True)
            removed.append(d.name)
    return removed


def free_udp_port() -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def _config(launch: MinetestLaunch, port: int) -> str:
    settings = dict(
        screen_w=launch.width, screen_h=launch.height, fullscreen="false", autosave_screensize="false",
        dedicated_server_step=launch.server_step_s, fps_max=launch.fps_max, fps_max_unfocused=launch.fps_max,
        pause_on_lost_focus="false", fov=launch.fov_deg, viewing_range=launch.viewing_range,
        mouse_sensitivity=launch.mouse_sensitivity, invert_mouse="false", enable_sound="false",
        enable_clouds="false", menu_clouds="false", enable_waving_leaves="false", enable_waving_plants="false",
        enable_waving_water="false", enable_minimap="false", show_debug="false", enable_shaders="false",
        smooth_lighting="false", view_bobbing_amount=0, fall_bobbing_amount=0, fov_change="false",
        time_speed=0, world_start_time=12000, creative_mode="false", enable_damage="false",
        mg_name="singlenode", static_spawnpoint="0,2,0", server_announce="false", enable_rollback_recording="false",
        active_block_range=1, max_block_send_distance=3, block_send_optimize_distance=2,
        server_side_occlusion_culling="false", client_mapblock_limit=400, directional_colored_fog="false",
        cinematic="false", chat_message_limit_per_10sec=0, console_message_height=0,
        recent_chat_messages=2, hud_scaling=0.5, show_statusline_on_connect="false", motd="", node_highlighting="none", tooltip_show_delay=100000, port=port,
        **{"secure.enable_security": "true"})
    return "".join(f"{k} = {v}\n" for k, v in settings.items())


@dataclasses.dataclass
class MinetestProcess:
    """A running Xvfb + Minetest client/server pair and its instance directory."""

    directory: pathlib.Path
    display: str
    xvfb: subprocess.Popen
    client: subprocess.Popen
    launch: MinetestLaunch

    @property
    def world(self) -> pathlib.Path:
        return self.directory / "world"

    @property
    def framebuffer(self) -> pathlib.Path:
        return self.directory / "fb" / "Xvfb_screen0"

    @staticmethod
    def start(launch: MinetestLaunch) -> "MinetestProcess":
        mt, xvfb_bin = binaries()
        remove_stale_dirs()
        CACHE.mkdir(parents=True, exist_ok=True)
        d = ROOT / f"{os.getpid()}_{secrets.token_hex(4)}"
        (d / "fb").mkdir(parents=True)
        world = d / "world"
        (world / "worldmods").mkdir(parents=True)
        shutil.copytree(MOD_DIR, world / "worldmods" / MOD_DIR.name)
        (world / "world.mt").write_text("gameid = minetest\nbackend = dummy\nplayer_backend = dummy\n"
                                        "auth_backend = files\nmod_storage_backend = dummy\n")
        port = free_udp_port()
        (d / "minetest.conf").write_text(_config(launch, port))
        log = open(d / "log.txt", "wb")
        r, w = os.pipe()
        xvfb = client = None
        try:
            argv, kw = _owned([xvfb_bin, "-displayfd", str(w), "-screen", "0", f"{launch.width}x{launch.height}x24",
                               "-fbdir", str(d / "fb"), "-nolisten", "tcp", "-noreset"])
            xvfb = subprocess.Popen(argv, pass_fds=(w,), stdout=log, stderr=log, **kw)
            os.close(w)
            w = -1
            display = ":" + _read_display(r, xvfb, launch.start_timeout_s)
            env = dict(os.environ, DISPLAY=display, LP_NUM_THREADS="1", HOME=str(d), XDG_CACHE_HOME=str(CACHE),
                       MINETEST_USER_PATH=str(d / "user"))
            argv, kw = _owned([mt, "--go", "--world", str(world), "--config", str(d / "minetest.conf"),
                               "--name", "agent", "--password", "", "--port", str(port),
                               "--logfile", str(d / "minetest.log")])
            client = subprocess.Popen(argv, stdout=log, stderr=log, stdin=subprocess.DEVNULL, env=env, cwd=str(d), **kw)
        except BaseException:
            for p in (client, xvfb):
                if p is not None:
                    _kill(p)
            shutil.rmtree(d, ignore_errors=True)
            raise
        finally:
            os.close(r)
            if w >= 0:
                os.close(w)
            log.close()
        return MinetestProcess(d, display, xvfb, client, launch)

    def alive(self) -> bool:
        return self.xvfb.poll() is None and self.client.poll() is None

    def pids(self) -> tuple[int, int]:
        return self.xvfb.pid, self.client.pid

    def log_tail(self, n: int = 2000) -> str:
        try:
            return (self.directory / "minetest.log").read_text(errors="replace")[-n:]
        except OSError:
            return ""

    def close(self) -> None:
        # Signal both, delete the directory, then reap: a worker SIGKILLed during a slow reap
        # (the pool gives it 2 s to close) leaves no directory behind.
        # SIGKILL is not instant: an engine thread still in a write (the mod rewrites its state
        # file every server step, the client its caches) can recreate entries while the first
        # rmtree runs, so delete once more after the reap.
        for p in (self.client, self.xvfb):
            _signal_group(p)
        shutil.rmtree(self.directory, ignore_errors=True)
        for p in (self.client, self.xvfb):
            _kill(p)
        shutil.rmtree(self.directory, ignore_errors=True)


def _read_display(fd: int, xvfb: subprocess.Popen, timeout: float) -> str:
    deadline = time.monotonic() + timeout
    buf = b""
    while b"\n" not in buf:
        if xvfb.poll() is not None:
            raise RuntimeError(f"Xvfb exited with code {xvfb.returncode} before reporting its display")
        if time.monotonic() > deadline:
            raise TimeoutError("Xvfb did not report its display in time")
        import select
        ready, _, _ = select.select([fd], [], [], 0.1)
        if ready:
            chunk = os.read(fd, 64)
            if not chunk:
                raise RuntimeError("Xvfb closed -displayfd without a display number")
            buf += chunk
    return buf.decode().strip()


def _signal_group(p: subprocess.Popen) -> None:
    if p.poll() is None:
        try:
            os.killpg(p.pid, signal.SIGKILL)
        except (ProcessLookupError, PermissionError):
            p.kill()


def _kill(p: subprocess.Popen) -> None:
    _signal_group(p)
    try:
        p.wait(timeout=5.0)
    except subprocess.TimeoutExpired:
        pass
