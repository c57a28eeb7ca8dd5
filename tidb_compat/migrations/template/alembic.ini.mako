# Alembic configuration for tidb_compat portable migrations.

[alembic]
script_location = ${script_location}
prepend_sys_path = .
# file_template = %%(year)d%%(month).2d%%(day).2d_%%(hour).2d%%(minute).2d_%%(rev)s_%%(slug)s

# tidb_compat: where the database is (DatabaseSettings.from_env(<prefix>)), what the models
# are (package.module:attribute, a MetaData or a declarative base), and sync or async.
tidb_compat.env_prefix = APP
tidb_compat.metadata =
tidb_compat.async = false

[loggers]
keys = root,sqlalchemy,alembic

[handlers]
keys = console

[formatters]
keys = generic

[logger_root]
level = WARNING
handlers = console
qualname =

[logger_sqlalchemy]
level = WARNING
handlers =
qualname = sqlalchemy.engine

[logger_alembic]
level = INFO
handlers =
qualname = alembic

[handler_console]
class = StreamHandler
args = (sys.stderr,)
level = NOTSET
formatter = generic

[formatter_generic]
format = %(levelname)-5.5s [%(name)s] %(message)s
datefmt = %H:%M:%S
