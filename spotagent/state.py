"""What an agent keeps across restarts: the instance it serves from and the
outcomes of the commands it carried out, so that a command delivered again
after a restart is answered, not carried out twice."""

import json
import logging
from collections import OrderedDict
from pathlib import Path

from spotagent.commands import Outcome

logger = logging.getLogger(__name__)


def state_read(path: Path) -> tuple[str, OrderedDict]:
    """The instance id and the outcomes by request id; empty when the file
    is missing or unreadable (the agent then starts afresh)."""
    done: OrderedDict[str, Outcome] = OrderedDict()
    if not path.exists():
        return "", done
    try:
        state = json.loads(path.read_text())
    except (OSError, ValueError) as error:
        logger.warning("Ignoring unreadable state file: %s", error)
        return "", done
    for request_id, outcome in state.get("done", {}).items():
        done[request_id] = Outcome(
            success=outcome["success"], message=outcome["message"],
            result=outcome["result"],
            followups=[tuple(item) for item in outcome["followups"]],
        )
    return state.get("instance_id") or "", done


def state_write(path: Path, instance_id: str, done: dict) -> None:
    """Write the state whole, through a temporary file and a rename, so a
    crash mid-write leaves the previous state, never half of one."""
    state = {
        "instance_id": instance_id,
        "done": {request_id: outcome.__dict__ for request_id, outcome in done.items()},
    }
    temporary = path.with_suffix(".tmp")
    temporary.write_text(json.dumps(state))
    temporary.replace(path)
