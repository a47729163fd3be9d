"""Django's admin app, installed with the operator console as its site.

A module of its own: spotopt.apps must declare only SpotOpt's own config.
"""

from django.contrib.admin.apps import AdminConfig


class OperatorAdminConfig(AdminConfig):
    default_site = "spotopt.admin_site.OperatorAdminSite"
