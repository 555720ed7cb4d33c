"""Continual linear classification on separable data (Evron et al., ICML 2023).

Sequential max-margin (SMM) is projection onto convex sets (POCS). ``tasks`` holds
task collections and the closed-form families; ``projection`` the exact NumPy
projection (the SMM step); ``active_sets`` the batched closed-form projection on
any array-API backend; ``dynamics`` batched runs and the forgetting quantities;
``regularised`` the weakly regularised learner in overflow-free form;
``references`` the independent solvers; ``claims`` and ``regularisation_claims``
the registered claims; ``plots`` the figures.
"""

from theory.continual_pocs.active_sets import (
    TaskTable,
    build_table,
    project,
    project_onto_each_task,
)
from theory.continual_pocs.dynamics import (
    Forgetting,
    TaskViolations,
    forgetting_curves,
    joint_solutions,
    run_smm,
    task_violations,
)
from theory.continual_pocs.projection import (
    Projection,
    joint_max_margin,
    max_margin,
    project_onto_task,
    project_rows,
    sequential_max_margin,
)
from theory.continual_pocs.regularised import minimise_step, regularised_path
from theory.continual_pocs.tasks import (
    constraint_rows,
    counterexample_tasks,
    cyclic_order,
    random_orders,
    random_separable_tasks,
    staircase_tasks,
    validate_tasks,
    wedge_tasks,
    with_bias,
)

__all__ = [
    "Forgetting",
    "Projection",
    "TaskTable",
    "TaskViolations",
    "build_table",
    "constraint_rows",
    "counterexample_tasks",
    "cyclic_order",
    "forgetting_curves",
    "joint_max_margin",
    "joint_solutions",
    "max_margin",
    "minimise_step",
    "project",
    "project_onto_each_task",
    "project_onto_task",
    "project_rows",
    "random_orders",
    "random_separable_tasks",
    "regularised_path",
    "run_smm",
    "sequential_max_margin",
    "staircase_tasks",
    "task_violations",
    "validate_tasks",
    "wedge_tasks",
    "with_bias",
]
