from typing import Any, cast

from django import forms
from django.core.validators import MaxValueValidator
from django.urls import reverse
from django.utils.html import format_html
from django.utils.safestring import SafeString
from django.utils.text import format_lazy
from django.utils.translation import gettext, gettext_lazy

from access_requests.models import Dataset, Export
from access_requests.services import MAX_DURATION_DAYS, MIN_JUSTIFICATION_CHARS
from ingest.catalogue import REQUIRED_KEYS
from ingest.dictionary import dictionary_entries

ALWAYS_INCLUDED_NOTE = gettext_lazy("always included in daily reports")
ALWAYS_INCLUDED_HELP = gettext_lazy(
    "Every daily-report row carries the date it was received (requestTime) and the "
    "installation's pseudonym (made from platformID, which never leaves the server): "
    "without them a row could be neither dated nor joined. So these two are always "
    "included when you ask for daily reports, and cannot be left out."
)


class DateInput(forms.DateInput):
    input_type = "date"


def element_choices(keys: list[str]) -> list[tuple[str, SafeString]]:
    """Each element by its dictionary title, linked to its entry: what it holds is a
    click away, in the applicant's words rather than the client's field names."""
    entries = {entry.key: entry for entry in dictionary_entries()}
    page = reverse("data-dictionary")
    choices = []
    for key in keys:
        entry = entries.get(key)
        title = entry.title if entry else key
        anchor = entry.anchor if entry else ""
        label = format_html(
            '{} <a href="{}#{}">{}</a>', title, page, anchor, gettext("(what it holds)")
        )
        if key in REQUIRED_KEYS:
            label = format_html(
                '{} <span class="always-included">{}</span>', label, ALWAYS_INCLUDED_NOTE
            )
        choices.append((key, label))
    return choices


class ElementCheckboxes(forms.CheckboxSelectMultiple):
    """The elements' checkboxes; those every daily-report row carries (the catalogue's
    required keys) are shown ticked and disabled, since nobody can leave them out."""

    def create_option(self, name, value, label, selected, index, subindex=None, attrs=None):
        always = value in REQUIRED_KEYS
        option = super().create_option(
            name, value, label, selected or always, index, subindex=subindex, attrs=attrs
        )
        if always:
            option["attrs"]["disabled"] = True
        return option


def elements_offered_setup(field: forms.Field, keys: list[str]) -> None:
    """Tell the applicant (or reviewer) which of the offered elements are always included."""
    if REQUIRED_KEYS & set(keys):
        field.help_text = ALWAYS_INCLUDED_HELP
        field.error_messages["required"] = gettext(
            "Choose at least one data element besides the two always included."
        )


def elements_with_row_keys(cleaned: dict[str, Any], always: frozenset[str]) -> None:
    """Put back the disabled elements a browser does not send, so the request (or grant)
    lists them as it did when they were ticked by hand."""
    if cleaned.get("elements"):
        cleaned["elements"] = sorted(set(cleaned["elements"]) | always)


class AccessRequestForm(forms.Form):
    purpose = forms.CharField(
        max_length=200,
        label=gettext_lazy("Purpose"),
        help_text=gettext_lazy("One line, shown publicly if the request is approved."),
    )
    justification = forms.CharField(
        widget=forms.Textarea(attrs={"rows": 6}),
        min_length=MIN_JUSTIFICATION_CHARS,
        label=gettext_lazy("Justification"),
        help_text=format_lazy(
            gettext_lazy(
                "Why you need the data and how the community benefits: a real paragraph "
                "(at least {chars} characters)."
            ),
            chars=MIN_JUSTIFICATION_CHARS,
        ),
    )
    intended_use = forms.CharField(
        widget=forms.Textarea(attrs={"rows": 3}),
        label=gettext_lazy("Intended use"),
        help_text=gettext_lazy("What you will do with the data."),
    )
    publication_plans = forms.CharField(
        widget=forms.Textarea(attrs={"rows": 3}),
        required=False,
        label=gettext_lazy("Publication plans"),
        help_text=gettext_lazy("Whether and where you plan to publish results."),
    )
    affiliation = forms.CharField(
        max_length=200,
        label=gettext_lazy("Affiliation"),
        help_text=gettext_lazy(
            "Your employer, project or school. If the request is approved, it is "
            "published with the purpose in the public register of approved uses."
        ),
    )
    datasets = forms.MultipleChoiceField(
        choices=Dataset.choices,
        widget=forms.CheckboxSelectMultiple,
        label=gettext_lazy("Data wanted"),
    )
    elements = forms.MultipleChoiceField(
        choices=(), widget=ElementCheckboxes, label=gettext_lazy("Data elements")
    )
    period_start = forms.DateField(widget=DateInput, label=gettext_lazy("Data from"))
    period_end = forms.DateField(widget=DateInput, label=gettext_lazy("Data to"))
    duration_days = forms.IntegerField(
        min_value=1,
        max_value=MAX_DURATION_DAYS,
        initial=90,
        label=gettext_lazy("Access for (days)"),
        help_text=format_lazy(gettext_lazy("At most {days} days."), days=MAX_DURATION_DAYS),
    )
    accept_terms = forms.BooleanField(label=gettext_lazy("I accept the data-use terms above"))

    def __init__(self, *args, elements: list[str], confirm_similar: bool = False, **kwargs):
        super().__init__(*args, **kwargs)
        # self.fields holds a copy of each declared field: "elements" is the one above.
        field = cast(forms.MultipleChoiceField, self.fields["elements"])
        field.choices = element_choices(elements)
        elements_offered_setup(field, elements)
        self.offered_elements = elements
        if confirm_similar:  # a similar request is open: filing this one too is deliberate
            self.fields["file_anyway"] = forms.BooleanField(
                required=False,
                label=gettext(
                    "I know about the open request above and want to file this one as well"
                ),
            )

    def clean(self):
        # Form.clean returns cleaned_data; the stubs allow the None an override may return.
        cleaned = cast(dict[str, Any], super().clean())
        start, end = cleaned.get("period_start"), cleaned.get("period_end")
        if start and end and start > end:
            self.add_error("period_end", gettext("The period must end after it starts."))
        chosen = set(cleaned.get("elements") or [])
        if chosen and chosen <= REQUIRED_KEYS:  # a post by hand: the rows' key and no more
            self.add_error("elements", self.fields["elements"].error_messages["required"])
        if Dataset.REPORTS in (cleaned.get("datasets") or []):  # rollups have no such rows
            elements_with_row_keys(cleaned, REQUIRED_KEYS & set(self.offered_elements))
        return cleaned


class AccessRequestEditForm(AccessRequestForm):
    """The same fields and checks as filing; the terms were accepted when it was filed."""

    accept_terms = None  # type: ignore[assignment]


class MessageForm(forms.Form):
    message = forms.CharField(
        widget=forms.Textarea(attrs={"rows": 4}), label=gettext_lazy("Your answer")
    )


class ProfileForm(forms.Form):
    display_name = forms.CharField(
        max_length=150, required=False, label=gettext_lazy("Display name")
    )
    affiliation = forms.CharField(max_length=200, required=False, label=gettext_lazy("Affiliation"))


class ApproveForm(forms.Form):
    """A reviewer may narrow what was asked; the defaults are what was asked."""

    datasets = forms.MultipleChoiceField(
        choices=Dataset.choices, widget=forms.CheckboxSelectMultiple
    )
    elements = forms.MultipleChoiceField(choices=(), widget=ElementCheckboxes)
    period_start = forms.DateField(widget=DateInput)
    period_end = forms.DateField(widget=DateInput)
    duration_days = forms.IntegerField(min_value=1, max_value=MAX_DURATION_DAYS)
    message = forms.CharField(
        widget=forms.Textarea(attrs={"rows": 3}),
        required=False,
        help_text="Optional note to the applicant.",
    )

    def __init__(self, *args, access_request, **kwargs):
        super().__init__(*args, **kwargs)
        # self.fields holds a copy of each declared field: these are the two above.
        elements = cast(forms.MultipleChoiceField, self.fields["elements"])
        elements.choices = [
            (key, f"{key} ({ALWAYS_INCLUDED_NOTE})" if key in REQUIRED_KEYS else key)
            for key in access_request.elements
        ]
        elements_offered_setup(elements, access_request.elements)
        self.offered_elements = list(access_request.elements)
        datasets = cast(forms.MultipleChoiceField, self.fields["datasets"])
        datasets.choices = [c for c in Dataset.choices if c[0] in access_request.datasets]
        # The field's max_value (MAX_DURATION_DAYS) is fixed when it is built; a grant may
        # not outlast what was asked, which access_request_approve enforces and this shows.
        duration = self.fields["duration_days"]
        duration.validators.append(MaxValueValidator(access_request.duration_days))
        duration.widget.attrs["max"] = access_request.duration_days

    def clean(self):
        cleaned = cast(dict[str, Any], super().clean())
        # what was asked for stays granted, whatever the data: as when they were ticked
        elements_with_row_keys(cleaned, REQUIRED_KEYS & set(self.offered_elements))
        return cleaned


class ReasonForm(forms.Form):
    reason = forms.CharField(widget=forms.Textarea(attrs={"rows": 4}))


class TokenForm(forms.Form):
    name = forms.CharField(max_length=100)
    expires_on = forms.DateField(required=False, widget=DateInput)


class ExportForm(forms.Form):
    format = forms.ChoiceField(choices=Export.Format.choices)
    period_from = forms.DateField(required=False, widget=DateInput)
    period_to = forms.DateField(required=False, widget=DateInput)
