"""The user model: Django's own, swappable from the first migration so it can grow later."""

from django.contrib.auth.models import AbstractUser
from django.db import models


class User(AbstractUser):
    """A person who registers and signs in; `id` is the token's `sub`."""

    email = models.EmailField("email address")
