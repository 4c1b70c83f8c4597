# Types for the parts of Flask-WTF 1.3 that microblog uses (CSRF protection only).
from .csrf import CSRFProtect as CSRFProtect
