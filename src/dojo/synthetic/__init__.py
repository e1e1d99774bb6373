"""Synthetic tasks with known ground truth: generators, the degradation ladder, validation, the service.

* :mod:`dojo.synthetic.models` — ``SyntheticTask`` / ``SyntheticResponse``;
* :mod:`dojo.synthetic.ladder` — the degradation ladder, explicit;
* :mod:`dojo.synthetic.procedural` — ``generate_task(seed)``, offline, eight program families;
* :mod:`dojo.synthetic.llm` — the OpenAI-compatible generator (a spec and one program per task);
* :mod:`dojo.synthetic.llm_program` — an LLM task's answers, prompt and per-miner instances from its program;
* :mod:`dojo.synthetic.instances` — ``instantiate(task, seed)``, a miner's own instance of a task;
* :mod:`dojo.synthetic.validation` — the checks every document passes before it is sent;
* :mod:`dojo.synthetic.generators` — auto | procedural | llm, with fallback;
* :mod:`dojo.synthetic.service` — ``dojo synthetic-api``.
"""

from dojo.errors import DocumentError
from dojo.synthetic.models import SyntheticResponse, SyntheticTask
from dojo.synthetic.procedural import generate_task
from dojo.synthetic.validation import check_document, document_error

__all__ = ["DocumentError", "SyntheticResponse", "SyntheticTask", "check_document", "document_error", "generate_task"]
