from django.conf import settings


def platform(request):
    return {
        "signup_enabled": settings.NOCO_SIGNUP_ENABLED,
        # "Sign in with ..." buttons on the login page (permissions/oidc.py).
        "oidc_providers": _oidc_providers,
    }


def _oidc_providers():
    # Called by the template only where it is used (the login page).
    from permissions.oidc import providers

    return list(providers().values())
