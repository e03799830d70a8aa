"""Forms of the guardian's sign-up and child linking: they clean and check the code."""

from django import forms
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy

from .guardians import GuardianError, guardian_code_check
from .models import GuardianCode


class GuardianLinkForm(forms.Form):
    student_number = forms.CharField(
        label=gettext_lazy("Your child's 学籍号"),
        max_length=32,
        widget=forms.TextInput(attrs={"autocomplete": "off", "inputmode": "text"}),
    )
    code = forms.CharField(
        label=gettext_lazy("Guardian code"),
        max_length=20,
        widget=forms.TextInput(
            attrs={"autocomplete": "one-time-code", "autocapitalize": "characters"}
        ),
    )

    def __init__(self, *args, ip_address: str = "", **kwargs):
        super().__init__(*args, **kwargs)
        self.ip_address = ip_address
        self.guardian_code: GuardianCode | None = None

    def clean(self):
        data = super().clean()
        if self.errors:
            return data
        try:
            self.guardian_code = guardian_code_check(
                student_number=data["student_number"],
                code=data["code"],
                ip_address=self.ip_address,
            )
        except GuardianError as error:
            self.add_error("code", error)
        return data


class GuardianSignUpForm(GuardianLinkForm):
    full_name = forms.CharField(label=gettext_lazy("Your name"), max_length=64)
    username = forms.CharField(
        label=gettext_lazy("Choose a username"),
        max_length=150,
        help_text=gettext_lazy("Letters, digits and @ . + - _ only; e.g. your mobile number."),
        widget=forms.TextInput(attrs={"autocomplete": "username"}),
    )
    password1 = forms.CharField(
        label=gettext_lazy("New password"),
        strip=False,
        widget=forms.PasswordInput(attrs={"autocomplete": "new-password"}),
    )
    password2 = forms.CharField(
        label=gettext_lazy("New password again"),
        strip=False,
        widget=forms.PasswordInput(attrs={"autocomplete": "new-password"}),
    )

    def clean_username(self):
        username = self.cleaned_data["username"].strip()
        if not all(ch.isalnum() or ch in "@.+-_" for ch in username):
            raise forms.ValidationError(
                _("Use letters, digits and @ . + - _ only."), code="username_chars"
            )
        return username

    def clean(self):
        data = forms.Form.clean(self)
        if self.errors:
            return data
        if data["password1"] != data["password2"]:
            self.add_error("password2", _("The two passwords differ."))
            return data
        return super().clean()
