from datetime import timedelta

from allauth.account.models import EmailAddress
from django.conf import settings
from django.contrib.auth import get_user_model
from django.contrib.auth.models import Group
from django.core.management import call_command
from django.core.management.base import BaseCommand, CommandError
from django.utils import timezone

from access_requests import services
from access_requests.models import AccessRequest, DataUseTerms

DEMO_ACCOUNTS = [
    # username, password, role: superuser, a group name, or "member"
    ("admin", "admin-demo-password", "superuser"),
    ("maintainer", "maintainer-demo-password", "maintainers"),
    ("auditor", "auditor-demo-password", "auditors"),
    ("member", "member-demo-password", "member"),
]


class Command(BaseCommand):
    help = (
        "Load demo telemetry and demo accounts for a local run (make run). "
        "Refuses to run without DEBUG: demo passwords are public."
    )

    def add_arguments(self, parser):
        parser.add_argument("--installations", type=int, default=1200)
        parser.add_argument("--days", type=int, default=90)

    def handle(self, *args, **options):
        if not settings.DEBUG:
            raise CommandError("seed_demo only runs with DEBUG=1: its passwords are public.")
        call_command(
            "generate_telemetry",
            installations=options["installations"],
            days=options["days"],
            if_empty=True,
            verbosity=options["verbosity"],
        )
        for username, password, role in DEMO_ACCOUNTS:
            self._ensure_account(username, password, role)
        today = timezone.now().date()
        self._ensure_pending_request(today)
        call_command(
            "rollup",
            f"--from={today - timedelta(days=options['days'])}",
            f"--to={today}",
            verbosity=options["verbosity"],
        )
        self._print_login()

    def _ensure_account(self, username: str, password: str, role: str) -> None:
        email = f"{username}@example.org"
        user, created = get_user_model().objects.get_or_create(
            username=username, defaults={"email": email}
        )
        if not created:
            return
        user.set_password(password)
        user.is_staff = role != "member"
        user.is_superuser = role == "superuser"
        user.save()
        if role not in ("superuser", "member"):
            user.groups.add(Group.objects.get(name=role))
        EmailAddress.objects.create(user=user, email=email, verified=True, primary=True)

    def _ensure_pending_request(self, today) -> None:
        """One request from the member waiting in the maintainers' queue, to review."""
        member = get_user_model().objects.get(username="member")
        if AccessRequest.objects.filter(applicant=member).exists():
            return
        services.access_request_submit(
            applicant=member,
            purpose="Addon co-usage across releases",
            justification=(
                "I maintain two KubeVela addons and want to know which addons are enabled "
                "together and on which releases, to decide what to test against each other "
                "before the next release. Daily rollups of the last quarter are enough."
            ),
            intended_use="Weekly counts of addon pairs per release line.",
            publication_plans="A short post on the community blog with aggregate figures.",
            affiliation="Example addon maintainers",
            datasets=["rollups"],
            elements=["enableAddonList", "version"],
            period_start=today - timedelta(days=89),
            period_end=today,
            duration_days=30,
            terms=DataUseTerms.objects.latest("version"),
        )

    def _print_login(self) -> None:
        self.stdout.write(
            self.style.SUCCESS("Demo data ready. The portal is at http://127.0.0.1:8000/")
        )
        self.stdout.write(
            "  Everyone signs in at http://127.0.0.1:8000/accounts/login/ with their email; "
            "staff then open the admin at http://127.0.0.1:8000/admin/."
        )
        for username, password, role in DEMO_ACCOUNTS:
            self.stdout.write(f"  {role:>11}: {username}@example.org / {password}")
        self.stdout.write(
            "  The member has one request waiting for review: "
            "http://127.0.0.1:8000/admin/access_requests/accessrequest/"
        )
