"""The handler's contract with the stack (handler/src/contract.json, its one home): the names of
the environment variables it reads, the largest body it takes and the request id rule. The stack
configures the function, the API's request model and its firewall from it; the tests read it too."""

from __future__ import annotations

import json
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from stacks.facts import PROJECT_ROOT

HANDLER_DIR = PROJECT_ROOT / "handler"


@dataclass(frozen=True)
class HandlerContract:
    environment: Mapping[str, str]  # setting -> variable name: table, bucket, cdnDomain
    max_body_bytes: int
    id_rule: Mapping[str, Any]
    error_line: Mapping[str, str]  # field, value: what marks a log line as an unexpected failure

    @classmethod
    def load(cls, handler_dir: Path = HANDLER_DIR) -> HandlerContract:
        document = json.loads((handler_dir / "src" / "contract.json").read_text())
        return cls(
            environment=document["environment"],
            max_body_bytes=document["maxBodyBytes"],
            id_rule=document["idRule"],
            error_line=document["errorLine"],
        )

    @property
    def error_pattern(self) -> str:
        """The CloudWatch Logs filter pattern that matches the handler's error lines."""
        return f'{{ $.{self.error_line["field"]} = "{self.error_line["value"]}" }}'

    def environment_for(self, **values: str) -> dict[str, str]:
        """The function's environment from its settings by their contract names (table=..., ...);
        every setting the handler reads, and no other."""
        if set(values) != set(self.environment):
            raise ValueError(f"the handler reads {sorted(self.environment)}, not {sorted(values)}")
        return {self.environment[setting]: value for setting, value in values.items()}
