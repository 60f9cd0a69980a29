"""Forms of the account pages (permissions/account_pages.py): sign-up, password, API tokens."""

from django import forms
from django.contrib.auth import get_user_model
from django.contrib.auth.forms import PasswordChangeForm, UserCreationForm
from django.core.exceptions import ValidationError

from permissions import accounts


class SignupForm(UserCreationForm):
    """The address and a password (Django's password rules). Whether the address is taken
    is not checked here: permissions.accounts.account_signup decides, without telling."""

    email = forms.EmailField(required=True)

    class Meta:
        model = get_user_model()
        fields = ("email",)

    def clean_email(self):
        return self.cleaned_data["email"].strip().lower()


class CountedPasswordChangeForm(PasswordChangeForm):
    """Django's, with each wrong old password counted like a failed sign-in (same limits,
    same lock; permissions/accounts.py)."""

    def __init__(self, user, *args, request=None, **kwargs):
        self.request = request
        super().__init__(user, *args, **kwargs)

    def clean_old_password(self):
        if not accounts.password_check_allowed(self.request, self.user):
            raise ValidationError(
                "Too many wrong passwords; try again later.", code="locked"
            )
        try:
            return super().clean_old_password()
        except ValidationError:
            accounts.password_check_failed(self.request, self.user)
            raise


class TokenForm(forms.Form):
    name = forms.CharField(max_length=200)
    base = forms.ChoiceField(required=False, label="Limit to base")
    read_only = forms.BooleanField(required=False, label="Read-only")

    def __init__(self, *args, bases=(), **kwargs):
        super().__init__(*args, **kwargs)
        self.fields["base"].choices = [("", "All my bases")] + [
            (b.pk, b.title) for b in bases
        ]
