"""Admin of database types, credentials, tags and instances.

Apps above this one extend the instance admin through the ``instance_admin_*_register``
functions: actions of the list, and the buttons, cards, problems, status rows and links of the
instance page (``page.py``); they never name this package's classes."""

from instances.admin import lookups  # noqa: F401  (registers the engine, credential and tag admins)
from instances.admin.instance import InstanceAdmin, instance_admin_action_register
from instances.admin.page import (
    instance_admin_button_register,
    instance_admin_link_register,
    instance_admin_problem_register,
    instance_admin_section_register,
    instance_admin_summary_register,
)

__all__ = [
    "InstanceAdmin",
    "instance_admin_action_register",
    "instance_admin_button_register",
    "instance_admin_link_register",
    "instance_admin_problem_register",
    "instance_admin_section_register",
    "instance_admin_summary_register",
]
