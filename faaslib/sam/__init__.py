"""AWS SAM in both directions: a registry exported as a SAM template (``faaslib export sam``),
its code as a deployment package (``faaslib export zip``), and a SAM or CloudFormation
template read back as a registry (:meth:`faaslib.Registry.from_template`)."""
