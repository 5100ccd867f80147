from django.conf import settings
from django.contrib.auth import get_user_model
from django.core.management import call_command
from django.core.management.base import BaseCommand, CommandError

DEMO_ACCOUNTS = [
    # username, password, superuser?
    ("admin", "admin-demo-password", True),
]


class Command(BaseCommand):
    help = (
        "Load demo telemetry and demo accounts for a local run (make run). "
        "Refuses to run without DEBUG: demo passwords are public."
    )

    def add_arguments(self, parser):
        parser.add_argument("--installations", type=int, default=400)
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
        for username, password, superuser in DEMO_ACCOUNTS:
            self._ensure_account(username, password, superuser)
        self._print_login()

    def _ensure_account(self, username: str, password: str, superuser: bool) -> None:
        user_model = get_user_model()
        user, created = user_model.objects.get_or_create(
            username=username, defaults={"email": f"{username}@example.org"}
        )
        if created:
            user.set_password(password)
            user.is_staff = superuser
            user.is_superuser = superuser
            user.save()

    def _print_login(self) -> None:
        self.stdout.write(
            self.style.SUCCESS("Demo data ready. The portal is at http://127.0.0.1:8000/")
        )
        for username, password, superuser in DEMO_ACCOUNTS:
            role = "superuser" if superuser else "member"
            self.stdout.write(
                f"  Log in at http://127.0.0.1:8000/admin/ as {username} / {password} ({role})"
            )
