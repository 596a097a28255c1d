"""--headless: the live loop with no window, for scripts and CI."""
import time
from typing import Optional

from app.session import LiveSession

TICK_S = 1.0 / 60


def run_headless(session: LiveSession, duration: Optional[float]) -> int:
    print(session.startup_note(), flush=True)
    session.start()
    try:
        while True:
            session.step()
            elapsed = session.clock() - session.started_at
            if session.quit_requested:
                print("Ext pressed: quitting", flush=True)
                break
            if session.finished:
                print("source ended (--once)", flush=True)
                break
            if duration is not None and elapsed >= duration:
                break
            time.sleep(TICK_S)
    except KeyboardInterrupt:
        print("interrupted: quitting", flush=True)
    finally:
        status = session.status_text()
        session.close()
    print(status, flush=True)
    return 0
