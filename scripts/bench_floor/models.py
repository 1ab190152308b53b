"""The todo service's table, read as it stands (unmanaged: the floor never migrates it)."""

from django.db import models


class Todo(models.Model):
    """A row of todos_todo."""

    id = models.UUIDField(primary_key=True)
    owner_id = models.CharField(max_length=64)
    title = models.CharField(max_length=200)
    description = models.TextField()
    completed = models.BooleanField()
    due_date = models.DateField(null=True)
    order = models.IntegerField()
    created_at = models.DateTimeField()
    updated_at = models.DateTimeField()

    class Meta:
        managed = False
        db_table = "todos_todo"
        app_label = "bench_floor"

    def __str__(self) -> str:
        return self.title
