"""The matchmaker's jobs by name: how one wakes another through the runtime
(``runtime.wake(jobs.ROOMS)``) without importing it, so no two modules import each
other in a circle (``tools/import_cycles.py``)."""

ROUND = "matching round"  # request: person_ids (placed at once), tell (say "still looking")
PROPOSALS = "proposal delivery"
ROOMS = "visit rooms"
WELCOME = "welcome"
QUESTIONS = "coordinator questions"
CIRCLES = "circle questions"
CIRCLE_ROOMS = "circle rooms"
CIRCLE_FORMING = "circle forming"
