from django.conf import settings


def platform(request):
    return {"signup_enabled": settings.NOCO_SIGNUP_ENABLED}
